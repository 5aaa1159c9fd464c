/**
 * Splitting command text into argv the way a POSIX shell splits words, without ever running a
 * shell: single quotes are literal, double quotes allow \" \\ \$ \` escapes, a backslash outside
 * quotes escapes the next character. Expansions ($VAR, globs, `cmd`) are NOT performed; the
 * characters that would have meant something to ldirectord's shell are reported so the reader can
 * warn (ldirectord-spec 10.5: fallbackcommand ran through system()).
 */

export interface SplitResult {
  readonly argv: string[];
  /** Shell metacharacters seen outside quotes (or $ / ` inside double quotes). */
  readonly shellChars: string[];
  /** True when a quote was never closed (the rest of the text became one word). */
  readonly unterminated: boolean;
}

const META_OUTSIDE = new Set(['|', '&', ';', '<', '>', '(', ')', '$', '`', '*', '?', '~']);

export function splitCommand(text: string): SplitResult {
  const argv: string[] = [];
  const shell = new Set<string>();
  let word = '';
  let inWord = false;
  let i = 0;
  let unterminated = false;
  while (i < text.length) {
    const c = text[i] as string;
    if (c === ' ' || c === '\t' || c === '\r' || c === '\n') {
      if (inWord) {
        argv.push(word);
        word = '';
        inWord = false;
      }
      i++;
      continue;
    }
    inWord = true;
    if (c === "'") {
      const end = text.indexOf("'", i + 1);
      if (end < 0) {
        word += text.slice(i + 1);
        unterminated = true;
        i = text.length;
      } else {
        word += text.slice(i + 1, end);
        i = end + 1;
      }
      continue;
    }
    if (c === '"') {
      i++;
      let closed = false;
      while (i < text.length) {
        const d = text[i] as string;
        if (d === '"') {
          closed = true;
          i++;
          break;
        }
        if (d === '\\' && i + 1 < text.length && '"\\$`'.includes(text[i + 1] as string)) {
          word += text[i + 1];
          i += 2;
          continue;
        }
        if (d === '$' || d === '`') shell.add(d);
        word += d;
        i++;
      }
      if (!closed) unterminated = true;
      continue;
    }
    if (c === '\\') {
      if (i + 1 < text.length) word += text[i + 1];
      i += 2;
      continue;
    }
    if (c === '#' && word === '') {
      // A shell comment: everything after is dropped by the shell.
      shell.add('#');
      inWord = false;
      break;
    }
    if (META_OUTSIDE.has(c)) shell.add(c);
    word += c;
    i++;
  }
  if (inWord) argv.push(word);
  return { argv, shellChars: [...shell], unterminated };
}
