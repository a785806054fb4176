/**
 * Builds notebooks/*.ipynb (tslab TypeScript kernel, without outputs) from
 * their TypeScript sources notebooks/*.ts, which `tsc -p notebooks` checks.
 * A source is split into cells at `// %%` lines (`// %% [markdown]` for a
 * text cell, its lines without the leading `// `). In code cells, static
 * imports become require() calls: tslab then runs each cell as written
 * without type-checking the pipeline's own sources again.
 *
 *   npx tsx scripts/build-notebooks.ts notebooks/01-eda.ts notebooks/01-eda.ipynb
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const KERNEL = {
  kernelspec: { display_name: 'TypeScript', language: 'typescript', name: 'tslab' },
  language_info: { name: 'typescript' },
};

/** One static import line as the require() a tslab cell runs (`import type` lines vanish). */
export function importAsRequire(line: string): string | null {
  if (/^import\s+type\s/.test(line)) return '';
  const side = /^import\s+(['"][^'"]+['"]);?$/.exec(line);
  if (side) return `require(${side[1]});`;
  const m = /^import\s+(.+?)\s+from\s+(['"][^'"]+['"]);?$/.exec(line);
  if (!m) return null;
  const [, what, from] = m as unknown as [string, string, string];
  const star = /^\*\s+as\s+(\w+)$/.exec(what);
  if (star) return `const ${star[1]} = require(${from});`;
  if (/^\w+$/.test(what)) return `const ${what} = require(${from});`;
  const named = /^\{(.+)\}$/.exec(what);
  if (named) {
    const names = named[1]!
      .split(',')
      .map((n) => n.trim())
      .filter((n) => n && !n.startsWith('type '))
      .map((n) => n.replace(/\s+as\s+/, ': '));
    return `const { ${names.join(', ')} } = require(${from});`;
  }
  return null;
}

interface Cell {
  cell_type: 'markdown' | 'code';
  id: string;
  metadata: Record<string, never>;
  source: string[];
  execution_count?: null;
  outputs?: never[];
}

export function notebookFromSource(source: string, name: string): { cells: Cell[]; metadata: typeof KERNEL; nbformat: number; nbformat_minor: number } {
  const chunks: { kind: 'markdown' | 'code'; lines: string[] }[] = [];
  for (const line of source.split('\n')) {
    const marker = /^\/\/ %%( \[markdown\])?\s*$/.exec(line);
    if (marker) chunks.push({ kind: marker[1] ? 'markdown' : 'code', lines: [] });
    else if (chunks.length > 0) chunks.at(-1)!.lines.push(line);
    else if (line.trim() !== '') throw new Error(`${name}: text before the first '// %%' cell marker: ${line}`);
  }
  const cells = chunks.map(({ kind, lines }, i): Cell => {
    const body =
      kind === 'markdown'
        ? lines.map((l) => l.replace(/^\/\/ ?/, ''))
        : lines.flatMap((l) => {
            if (!l.startsWith('import ')) return [l];
            const required = importAsRequire(l);
            if (required === null) throw new Error(`${name}: write imports on one line (import x / * as x / { a, b } from '...'): ${l}`);
            return required ? [required] : [];
          });
    const text = body.join('\n').replace(/^\n+|\n+$/g, '');
    const cell: Cell = { cell_type: kind, id: `${name.slice(0, 2)}-${i}`, metadata: {}, source: text.split(/(?<=\n)/) };
    return kind === 'code' ? { ...cell, execution_count: null, outputs: [] } : cell;
  });
  return { cells, metadata: KERNEL, nbformat: 4, nbformat_minor: 5 };
}

if (require.main === module) {
  const [source, out] = process.argv.slice(2);
  if (!source || !out) throw new Error('usage: build-notebooks.ts <notebooks/NAME.ts> <OUT.ipynb>');
  // Cell ids come from the source's name (01-eda.ts -> 01-0, 01-1, ...), wherever the notebook is written.
  const nb = notebookFromSource(readFileSync(source, 'utf8'), path.basename(source));
  writeFileSync(out, `${JSON.stringify(nb, null, 1)}\n`);
}
