#!/usr/bin/env python3
"""Writes pipeline/synth/hentaigana-names.json: every Unicode hentaigana code
point with its official Unicode name (from Python's unicodedata). The synthetic
data stage maps each to its modern K49 class by parsing that name, so the
mapping is traceable to the Unicode standard rather than typed by hand."""
import json, pathlib, unicodedata

rows = []
for cp in range(0x1B000, 0x1B170):
    name = unicodedata.name(chr(cp), '')
    if name.startswith('HENTAIGANA LETTER '):
        rows.append([f'U+{cp:04X}', name])
out = pathlib.Path(__file__).resolve().parent.parent / 'pipeline' / 'synth' / 'hentaigana-names.json'
lines = ',\n'.join('  ' + json.dumps(r) for r in rows)
out.write_text(f'{{"unicode_version": "{unicodedata.unidata_version}", "letters": [\n{lines}\n]}}\n')
print(f'{len(rows)} hentaigana letters (Unicode {unicodedata.unidata_version}) -> {out}')
