// A small tokenizer for Python and JavaScript, enough to make code readable in an audit: it
// marks keywords, builtins, strings, numbers, comments, decorators and defined names. It never
// fails: anything it does not recognise is plain text, so the code shown is always the code
// as written, character for character.

const PYTHON = {
  keywords: new Set(('False None True and as assert async await break class continue def del elif else except ' +
    'finally for from global if import in is lambda nonlocal not or pass raise return try while with yield match case').split(' ')),
  builtins: new Set(('print len range int str float list dict set tuple bool input sorted reversed enumerate zip map ' +
    'filter sum min max abs any all open isinstance type super object Exception ValueError TypeError KeyError ' +
    'IndexError StopIteration round divmod pow ord chr hex bin iter next repr hash id format self cls').split(' ')),
  lineComment: '#',
  blockComment: null,
  definers: new Set(['def', 'class']),
};

const JAVASCRIPT = {
  keywords: new Set(('break case catch class const continue debugger default delete do else export extends ' +
    'finally for function if import in instanceof let new of return super switch this throw try typeof var void ' +
    'while with yield async await static get set true false null undefined').split(' ')),
  builtins: new Set(('console Math JSON Object Array String Number Boolean Map Set Promise Error RegExp Date ' +
    'parseInt parseFloat isNaN Symbol BigInt require module std scriptArgs print').split(' ')),
  lineComment: '//',
  blockComment: ['/*', '*/'],
  definers: new Set(['function', 'class']),
};

export const LANGUAGES = { python: PYTHON, py: PYTHON, python3: PYTHON, javascript: JAVASCRIPT, js: JAVASCRIPT };

const IDENT_START = /[A-Za-z_$\u00c0-\uffff]/;
const IDENT = /[A-Za-z0-9_$\u00c0-\uffff]/;
const NUMBER = /^(?:0[xX][0-9a-fA-F_]+|0[bB][01_]+|0[oO][0-7_]+|(?:\d[\d_]*\.?[\d_]*|\.\d[\d_]*)(?:[eE][+-]?\d+)?[jJn]?)/;

/** Splits `code` into `[kind, text]` tokens; kind is null for plain text. */
export function tokenize(code, language) {
  const lang = LANGUAGES[String(language).toLowerCase()] ?? PYTHON;
  const tokens = [];
  const push = (kind, text) => {
    const last = tokens[tokens.length - 1];
    if (kind === null && last && last[0] === null) last[1] += text;
    else tokens.push([kind, text]);
  };
  let i = 0;
  let defining = false;
  while (i < code.length) {
    const rest = code.slice(i, i + 3);
    const c = code[i];
    if (code.startsWith(lang.lineComment, i)) {
      const end = code.indexOf('\n', i);
      const stop = end === -1 ? code.length : end;
      push('comment', code.slice(i, stop));
      i = stop;
      continue;
    }
    if (lang.blockComment && code.startsWith(lang.blockComment[0], i)) {
      const end = code.indexOf(lang.blockComment[1], i + 2);
      const stop = end === -1 ? code.length : end + 2;
      push('comment', code.slice(i, stop));
      i = stop;
      continue;
    }
    // Python string prefixes (r, b, f, rb, …) belong to the string.
    let prefix = 0;
    if (lang === PYTHON) {
      const m = /^[rRbBuUfF]{1,2}(?=['"])/.exec(code.slice(i, i + 3));
      if (m) prefix = m[0].length;
    }
    const q = code[i + prefix];
    if (q === '"' || q === "'" || (q === '`' && lang === JAVASCRIPT)) {
      const start = i;
      let j = i + prefix;
      const triple = lang === PYTHON && code.startsWith(q.repeat(3), j);
      const close = triple ? q.repeat(3) : q;
      j += close.length;
      while (j < code.length) {
        if (code[j] === '\\') { j += 2; continue; }
        if (code.startsWith(close, j)) { j += close.length; break; }
        // An unterminated one-line string ends at the line's end.
        if (!triple && q !== '`' && code[j] === '\n') break;
        j += 1;
      }
      push('string', code.slice(start, Math.min(j, code.length)));
      i = Math.min(j, code.length);
      continue;
    }
    if (/[0-9]/.test(c) || (c === '.' && /[0-9]/.test(code[i + 1] ?? ''))) {
      const previous = code[i - 1] ?? '';
      const m = NUMBER.exec(code.slice(i));
      if (m && !IDENT.test(previous)) {
        push('number', m[0]);
        i += m[0].length;
        continue;
      }
    }
    if (c === '@' && lang === PYTHON && /^@[A-Za-z_]/.test(rest)) {
      let j = i + 1;
      while (j < code.length && /[A-Za-z0-9_.]/.test(code[j])) j += 1;
      push('decorator', code.slice(i, j));
      i = j;
      continue;
    }
    if (IDENT_START.test(c)) {
      let j = i + 1;
      while (j < code.length && IDENT.test(code[j])) j += 1;
      const word = code.slice(i, j);
      const afterDot = code[i - 1] === '.';
      let kind = null;
      if (defining) { kind = 'defname'; defining = false; }
      else if (!afterDot && lang.keywords.has(word)) kind = 'keyword';
      else if (!afterDot && lang.builtins.has(word)) kind = 'builtin';
      else if (code[j] === '(') kind = 'call';
      if (kind === 'keyword' && lang.definers.has(word)) defining = true;
      push(kind, word);
      i = j;
      continue;
    }
    if (!/\s/.test(c)) defining = false;
    push(null, c);
    i += 1;
  }
  return tokens;
}

/** The highlighted code as a fragment of spans (text nodes only, never HTML). */
export function highlight(code, language) {
  const fragment = document.createDocumentFragment();
  for (const [kind, text] of tokenize(code, language)) {
    if (kind === null) fragment.append(document.createTextNode(text));
    else {
      const span = document.createElement('span');
      span.className = `tok-${kind}`;
      span.textContent = text;
      fragment.append(span);
    }
  }
  return fragment;
}
