/**
 * Offline validators for the official SARIF 2.1.0 and CycloneDX 1.6 JSON
 * schemas, committed under ./schemas (see schemas/README.md for where each
 * file comes from). No schema is fetched: Ajv is told to refuse remote refs.
 */
import { readFileSync } from 'node:fs';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';

const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;

const schema = (name: string) => JSON.parse(readFileSync(new URL(`./schemas/${name}`, import.meta.url), 'utf8'));

function createAjv(): Ajv {
  const ajv = new Ajv({
    allErrors: true,
    strict: false,
    loadSchema: (uri) => Promise.reject(new Error(`remote schema refused: ${uri}`)),
  });
  addFormats(ajv);
  return ajv;
}

let sarif: ValidateFunction | null = null;
let cyclonedx: ValidateFunction | null = null;

/**
 * The OASIS SARIF 2.1.0 schema is written for JSON Schema draft-04, which Ajv 8
 * does not load. The one draft-04 construct it uses is the root `id`; its
 * `$ref`s are all local and it has no boolean `exclusiveMinimum`, so renaming
 * `id` to `$id` and dropping `$schema` gives the same constraints under draft-07.
 */
function sarifValidator(): ValidateFunction {
  if (!sarif) {
    const { id, $schema: _draft04, ...rest } = schema('sarif-schema-2.1.0.json');
    sarif = createAjv().compile({ $id: id, ...rest });
  }
  return sarif;
}

/**
 * CycloneDX's bundled copy refers to its SPDX and JSF schemas as
 * `spdx.SNAPSHOT.schema.json` and `jsf-0.82.SNAPSHOT.schema.json`; register
 * them under those URIs. `iri-reference` and `idn-email` have no checker in
 * ajv-formats (CycloneDX's own validator accepts any iri-reference too).
 */
function cyclonedxValidator(): ValidateFunction {
  if (!cyclonedx) {
    const ajv = createAjv();
    ajv.addFormat('iri-reference', true);
    ajv.addFormat('idn-email', true);
    ajv.addSchema(schema('spdx.SNAPSHOT.schema.json'), 'http://cyclonedx.org/schema/spdx.SNAPSHOT.schema.json');
    ajv.addSchema(schema('jsf-0.82.SNAPSHOT.schema.json'), 'http://cyclonedx.org/schema/jsf-0.82.SNAPSHOT.schema.json');
    cyclonedx = ajv.compile(schema('bom-1.6.SNAPSHOT.schema.json'));
  }
  return cyclonedx;
}

export interface Validation {
  valid: boolean;
  errors: ErrorObject[];
}

/** Validate after a JSON round trip, so what is checked is what a file would hold. */
function validate(validator: ValidateFunction, value: unknown): Validation {
  const valid = validator(JSON.parse(JSON.stringify(value)));
  return { valid: Boolean(valid), errors: validator.errors ?? [] };
}

export const validateSarif = (log: unknown) => validate(sarifValidator(), log);
export const validateCycloneDx = (bom: unknown) => validate(cyclonedxValidator(), bom);
