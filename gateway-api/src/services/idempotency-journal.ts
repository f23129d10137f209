import { mkdir, open, readFile, rename, type FileHandle } from 'node:fs/promises';
import path from 'node:path';

export interface IdempotencyJournalOptions {
  /** The journal file; its folder is created (mode 0700) when missing. */
  readonly file: string;
  /** The whole journal content as of now (newline-terminated lines), for a rewrite. */
  readonly snapshot: () => string;
  /**
   * fdatasync every write before its promise resolves (default true). Without it a write survives
   * a crash of the process but not of the machine.
   */
  readonly fsync?: boolean;
}

interface Pending {
  readonly text: string;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

/** Owner read/write only: the records name callers' keys and hold the answers they were given. */
const FILE_MODE = 0o600;

/** The lines of a journal file; none when it does not exist yet. */
export async function readJournalLines(file: string): Promise<string[]> {
  try {
    return (await readFile(file, 'utf8')).split('\n');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      return [];
    }
    throw error;
  }
}

/** Makes a rename durable; some platforms cannot sync a folder, where rename is durable anyway. */
async function syncFolder(folder: string): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(folder, 'r');
    await handle.sync();
  } catch {
    // Best effort only.
  } finally {
    await handle?.close();
  }
}

/**
 * An append-only file of JSON lines with group commit: lines appended while a write is on its way
 * go out together in the next write and sync, so concurrent requests share one fdatasync and the
 * event loop never blocks on the disk. A promise resolves only once its line is on disk.
 *
 * A rewrite (at open and on compaction) writes the owner's snapshot to a temporary file, syncs it
 * and renames it over the journal, so a crash leaves either the old or the new file, never a mix.
 * Lines queued meanwhile are appended after it; each line sets or deletes one key as a whole, so
 * replaying one whose effect the snapshot already holds changes nothing.
 */
export class IdempotencyJournal {
  private readonly queue: Pending[] = [];
  private writing: Promise<void> | undefined;
  private rewriteWanted = false;
  private closed = false;
  private bytes = 0;
  private rewrittenBytes = 0;

  private constructor(
    private readonly options: IdempotencyJournalOptions,
    private handle: FileHandle | undefined,
  ) {}

  /** Opens the journal after rewriting it from the snapshot (dropping a torn last line). */
  static async open(options: IdempotencyJournalOptions): Promise<IdempotencyJournal> {
    await mkdir(path.dirname(options.file), { recursive: true, mode: 0o700 });
    const journal = new IdempotencyJournal(options, undefined);
    await journal.rewrite();
    return journal;
  }

  /** Bytes in the journal file now. */
  get size(): number {
    return this.bytes;
  }

  /** Bytes the journal had after its last rewrite. */
  get sizeAfterRewrite(): number {
    return this.rewrittenBytes;
  }

  /** Appends one line (without its newline); resolves once it is on disk. */
  append(line: string): Promise<void> {
    return this.enqueue(`${line}\n`);
  }

  /** Rewrites the journal from the snapshot; resolves once the new file is in place. */
  compact(): Promise<void> {
    this.rewriteWanted = true;
    return this.enqueue('');
  }

  /** Waits for queued writes, then closes the file; later writes are refused. */
  async close(): Promise<void> {
    this.closed = true;
    while (this.writing !== undefined) {
      await this.writing;
    }
    await this.handle?.close();
    this.handle = undefined;
  }

  private enqueue(text: string): Promise<void> {
    if (this.closed) {
      return Promise.reject(new Error('the idempotency journal is closed'));
    }
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ text, resolve, reject });
      this.kick();
    });
  }

  /** Starts writing the queued lines unless a write is on its way (it kicks again when done). */
  private kick(): void {
    if (this.writing !== undefined || this.queue.length === 0) {
      return;
    }
    const batch = this.queue.splice(0);
    this.writing = this.write(batch).then(() => {
      this.writing = undefined;
      this.kick();
    });
  }

  /** Never rejects: each line's promise learns the outcome. */
  private async write(batch: readonly Pending[]): Promise<void> {
    try {
      if (this.rewriteWanted) {
        // The snapshot holds these lines' effects: their records were changed before queuing.
        await this.rewrite();
      } else {
        const text = batch.map((pending) => pending.text).join('');
        const handle = this.handle;
        if (handle === undefined) {
          throw new Error('the idempotency journal is closed');
        }
        await handle.appendFile(text, 'utf8');
        if (this.options.fsync !== false) {
          await handle.datasync();
        }
        this.bytes += Buffer.byteLength(text, 'utf8');
      }
      for (const pending of batch) {
        pending.resolve();
      }
    } catch (error) {
      // A failed append may have left a torn line that the next line would join: the next write
      // rewrites the whole journal from memory instead.
      this.rewriteWanted = true;
      for (const pending of batch) {
        pending.reject(error);
      }
    }
  }

  private async rewrite(): Promise<void> {
    const { file } = this.options;
    const text = this.options.snapshot();
    const temporary = `${file}.tmp`;
    const staged = await open(temporary, 'w', FILE_MODE);
    try {
      // An existing temporary file (from a crash) keeps its mode on open: set it.
      await staged.chmod(FILE_MODE);
      await staged.writeFile(text, 'utf8');
      await staged.sync();
    } finally {
      await staged.close();
    }
    await rename(temporary, file);
    await syncFolder(path.dirname(file));
    const previous = this.handle;
    this.handle = await open(file, 'a', FILE_MODE);
    this.rewriteWanted = false;
    this.bytes = Buffer.byteLength(text, 'utf8');
    this.rewrittenBytes = this.bytes;
    await previous?.close();
  }
}
