/** Reference identifiers that findings cite, so an auditor can map them. */
export const REF = {
  deserialization: 'CWE-502',
  codeInjection: 'CWE-94',
  pathTraversal: 'CWE-22',
  resourceExhaustion: 'CWE-400',
  allocationWithoutLimits: 'CWE-770',
  dataAmplification: 'CWE-409',
  uncontrolledRecursion: 'CWE-674',
  improperInput: 'CWE-20',
  supplyChain: 'MITRE ATLAS AML.T0010',
  unsafeArtifact: 'MITRE ATLAS AML.T0011.000',
  manipulateModel: 'MITRE ATLAS AML.T0018',
  owaspSupplyChain: 'OWASP LLM03:2025',
  nistMeasure: 'NIST AI RMF MEASURE 2.7',
  nistManage: 'NIST AI RMF MANAGE 3.1',
} as const;

/** References shared by every "the file does not follow its format" finding. */
export const MALFORMED_REFS = [REF.improperInput, REF.supplyChain, REF.nistMeasure];

/** References shared by every "loading this runs code" finding. */
export const CODE_EXECUTION_REFS = [
  REF.deserialization,
  REF.codeInjection,
  REF.unsafeArtifact,
  REF.supplyChain,
  REF.owaspSupplyChain,
  REF.nistMeasure,
  REF.nistManage,
];
