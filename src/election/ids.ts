// The canonical order of account ids. Upstream keys supports by a BTreeMap over the AccountId;
// for string ids we need one documented total order:
//   1. ids that are canonical decimal integers ("0", or no leading zero) come first, by value
//      (so the fixtures' numeric ids sort as Substrate's u64 ids do);
//   2. every other id after them, by UTF-16 code unit (for same-length lowercase hex node ids
//      this is their numeric order).

const DECIMAL = /^(0|[1-9][0-9]*)$/;

/** Total order on ids; see the file comment. */
export function compareIds(a: string, b: string): number {
  if (a === b) return 0;
  const da = DECIMAL.test(a), db = DECIMAL.test(b);
  if (da && db) {
    if (a.length !== b.length) return a.length - b.length;
    return a < b ? -1 : 1;
  }
  if (da !== db) return da ? -1 : 1;
  return a < b ? -1 : 1;
}
