/**
 * OpenADR object ids (^[a-zA-Z0-9_-]{1,128}$) of the objects the VTN derives from the ledger:
 * `<kind>-<slot>-<subject>`, each part escaped so that '-' only separates ('_' escapes: _u for
 * '_', _h for '-', _c for ':', _d for '.'). Any gateway instance derives the same id. The
 * demand-response kinds take a demand-response event id where the others take a slot id:
 * `dr-<event>-<org>` names the event a home's result reports on, `reward-<event>-<venID>` that
 * result.
 */
export type DerivedKind = 'price' | 'dispatch' | 'aggregate' | 'dr' | 'reward';

const KINDS: ReadonlySet<string> = new Set<DerivedKind>(['price', 'dispatch', 'aggregate', 'dr', 'reward']);

const ESCAPES: Readonly<Record<string, string>> = { _: '_u', '-': '_h', ':': '_c', '.': '_d' };
const UNESCAPES: Readonly<Record<string, string>> = { u: '_', h: '-', c: ':', d: '.' };

function escapePart(text: string): string {
  return text.replace(/[_\-:.]/g, (character) => ESCAPES[character] ?? character);
}

function unescapePart(text: string): string | undefined {
  if (!/^(?:[A-Za-z0-9]|_[uhcd])+$/.test(text)) {
    return undefined;
  }
  return text.replace(/_([uhcd])/g, (_match, code: string) => UNESCAPES[code] ?? '');
}

/** The id of a derived object; undefined when it would exceed 128 characters. */
export function derivedId(kind: DerivedKind, slotId: string, subject: string): string | undefined {
  const id = `${kind}-${escapePart(slotId)}-${escapePart(subject)}`;
  return id.length <= 128 ? id : undefined;
}

export interface DerivedRef {
  readonly kind: DerivedKind;
  readonly slotId: string;
  readonly subject: string;
}

/** The kind, slot and subject of a derived object's id; undefined for any other id. */
export function parseDerivedId(id: string): DerivedRef | undefined {
  const [kind, slot, subject, extra] = id.split('-');
  if (extra !== undefined || slot === undefined || subject === undefined) {
    return undefined;
  }
  if (kind === undefined || !KINDS.has(kind)) {
    return undefined;
  }
  const slotId = unescapePart(slot);
  const subjectText = unescapePart(subject);
  return slotId === undefined || subjectText === undefined
    ? undefined
    : { kind: kind as DerivedKind, slotId, subject: subjectText };
}
