/**
 * The subset of Python literals numpy writes in .npy headers: dicts, tuples, lists, strings,
 * integers (with Python 2's trailing L), True/False/None. Tuples become arrays.
 */
export function parsePythonLiteral(text: string): unknown {
  let at = 0;

  const fail = (what: string): never => {
    throw new Error(`${what} at position ${at}`);
  };
  const skipSpace = () => {
    while (at < text.length && /\s/.test(text[at])) at++;
  };
  const expect = (char: string) => {
    skipSpace();
    if (text[at] !== char) fail(`expected '${char}'`);
    at++;
  };

  /** Items up to `close`, allowing a trailing comma. */
  const sequence = <T>(close: string, item: () => T): T[] => {
    const items: T[] = [];
    for (;;) {
      skipSpace();
      if (text[at] === close) {
        at++;
        return items;
      }
      items.push(item());
      skipSpace();
      if (text[at] === ',') at++;
      else if (text[at] !== close) fail(`expected ',' or '${close}'`);
    }
  };

  const string = (): string => {
    const quote = text[at++];
    let result = '';
    while (at < text.length && text[at] !== quote) {
      if (text[at] === '\\') at++;
      result += text[at++];
    }
    if (at >= text.length) fail('unterminated string');
    at++;
    return result;
  };

  const value = (): unknown => {
    skipSpace();
    const char = text[at];
    if (char === '{') {
      at++;
      const entries = sequence('}', () => {
        const key = value();
        expect(':');
        return [String(key), value()] as const;
      });
      return Object.fromEntries(entries);
    }
    if (char === '(') {
      at++;
      return sequence(')', value);
    }
    if (char === '[') {
      at++;
      return sequence(']', value);
    }
    if (char === "'" || char === '"') return string();
    const word = /^(-?\d+)L?|^(True|False|None)\b/.exec(text.slice(at));
    if (!word) return fail('unexpected character');
    at += word[0].length;
    if (word[1] !== undefined) return Number(word[1]);
    return word[2] === 'True' ? true : word[2] === 'False' ? false : null;
  };

  const result = value();
  skipSpace();
  if (at !== text.length) fail('unexpected text after the literal');
  return result;
}
