/** The project's one version: package.json's, said by `k49 --version`, `GET /`, `/health` and the OpenAPI document. */
import { readFileSync } from 'node:fs';
import { PACKAGE_JSON } from './paths';

export const VERSION: string = (JSON.parse(readFileSync(PACKAGE_JSON, 'utf8')) as { version: string }).version;
