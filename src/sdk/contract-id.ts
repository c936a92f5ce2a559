// How people write a contract id on a command line or in a config: UTF-8 text, or `hex:` and the bytes.

/** "demo" → UTF-8 bytes; "hex:64656d6f" → those bytes. 1..255 bytes (RegisterContractRequest). */
export function parseContractId(text: string): Uint8Array {
  if (typeof text !== 'string') throw new TypeError('contract id must be a string');
  let bytes: Uint8Array;
  if (text.startsWith('hex:')) {
    const hex = text.slice(4);
    if (!/^(?:[0-9a-fA-F]{2})+$/.test(hex)) throw new TypeError(`contract id '${text}': expected hex: followed by an even number of hex digits`);
    bytes = Uint8Array.from(Buffer.from(hex, 'hex'));
  } else {
    bytes = new TextEncoder().encode(text);
  }
  if (bytes.length === 0 || bytes.length > 255) throw new TypeError(`contract id '${text.slice(0, 40)}' must be 1..255 bytes, got ${bytes.length}`);
  return bytes;
}
