/**
 * The bundle's post-pass (tools/bundle.ts): esbuild's keepNames without its cost in hot paths.
 */
const WRAP = '/* @__PURE__ */ __name(';

/**
 * keepNames gives every named function its source name (esbuild renames top-level symbols that
 * collide across modules: `readFile3`, `class _Ring`), by wrapping it in `__name(fn, "name")`,
 * which is Object.defineProperty on the function. Top-level ones run once; but a closure made per
 * call inside a function (`const w = () => ...` in the path encoder, made for every path) then
 * paid a defineProperty per call: readFile of 1 KiB files at 64 in flight ran 17 % slower than
 * unbundled. Inside functions nothing is renamed, and V8 already names `const w = () => ...` and
 * `{ isFile: () => ... }` after the binding, so where the wrapper's name is the binding's own the
 * wrapper is blanked out, column for column (the source map stays exact): single-line
 * `  const w = /* @__PURE__ *\/ __name(EXPR, "w");` and `  key: /* @__PURE__ *\/ __name(EXPR, "key"),`,
 * and the same over several lines, the wrapper closing with `}, "w");` or `}, "key"),` at the
 * line's indentation (a provided buffer's `back` closure, made per received chunk).
 */
export function unwrapLocalNames(text: string): { text: string; count: number } {
  const lines = text.split('\n');
  const blank = (s: string) => ' '.repeat(s.length);
  let count = 0;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const decl = /^(\s+)(?:const|let) ([\w$]+) = \/\* @__PURE__ \*\/ __name\(/.exec(line);
    const prop = decl ? null : /^(\s+)([\w$]+): \/\* @__PURE__ \*\/ __name\(/.exec(line);
    const m = decl ?? prop;
    if (!m) continue;
    const [, indent, name] = m;
    const at = line.indexOf(WRAP);
    const tail = `, "${name}")${decl ? ';' : ''}`;
    if (line.endsWith(tail) || (prop && line.endsWith(tail + ','))) {
      // one line: blank the wrapper's opening and its `, "name")`
      const end = line.endsWith(tail) ? line.length - (decl ? 1 : 0) : line.length - 1;
      const suffix = `, "${name}")`;
      lines[i] = line.slice(0, at) + blank(WRAP) + line.slice(at + WRAP.length, end - suffix.length) + blank(suffix) + line.slice(end);
      count++;
      continue;
    }
    // several lines: the wrapper closes at `}, "name");` (a const) or `}, "name"),` / `}, "name")`
    // (a property) with the line's indentation
    const closes = decl ? [`${indent}}, "${name}");`] : [`${indent}}, "${name}"),`, `${indent}}, "${name}")`];
    let j = i + 1;
    while (j < lines.length && !closes.includes(lines[j]) && (lines[j].startsWith(indent + ' ') || lines[j] === '')) j++;
    if (j >= lines.length || !closes.includes(lines[j])) continue;
    const after = lines[j].slice(`${indent}}, "${name}")`.length); // ';' or ',' or nothing
    lines[i] = line.slice(0, at) + blank(WRAP) + line.slice(at + WRAP.length);
    lines[j] = `${indent}}${blank(`, "${name}")`)}${after}`;
    count++;
  }
  return { text: lines.join('\n'), count };
}

