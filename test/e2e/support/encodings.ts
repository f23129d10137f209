/** Every byte encoding of a value or text we can think of that could betray it in a block. */
export function encodings(text: string): Buffer[] {
  const utf8 = Buffer.from(text, 'utf8');
  return [
    utf8,
    Buffer.from(text, 'utf16le'),
    Buffer.from(utf8.toString('hex')),
    Buffer.from(utf8.toString('base64').replace(/=+$/, '')),
  ];
}
