import type { Finding, FindingLocation, Verdict } from '../report/types.ts';
import { ARCHIVE_RULES } from './catalog/archive.ts';
import { CONTAINER_RULES } from './catalog/container.ts';
import { FOLDER_RULES } from './catalog/folder.ts';
import { GENERAL_RULES } from './catalog/general.ts';
import { GGUF_RULES } from './catalog/gguf.ts';
import { JOBLIB_RULES } from './catalog/joblib.ts';
import { KERAS_RULES } from './catalog/keras.ts';
import { NUMPY_RULES } from './catalog/numpy.ts';
import { ONNX_RULES } from './catalog/onnx.ts';
import { PICKLE_RULES } from './catalog/pickle.ts';
import { PICKLE_STREAM_RULES } from './catalog/pickle-stream.ts';
import { SAFETENSORS_RULES } from './catalog/safetensors.ts';
import { TAR_RULES } from './catalog/tar.ts';
import { TEMPLATE_RULES } from './catalog/template.ts';
import { TENSORFLOW_RULES } from './catalog/tensorflow.ts';
import { TORCH_RULES } from './catalog/torch.ts';
import type { RuleDefinition, RuleEffect } from './rule.ts';

export type { RuleDefinition, RuleEffect } from './rule.ts';

/** Every rule Preflight can report, by stable id. */
export const RULES = {
  ...GENERAL_RULES,
  ...SAFETENSORS_RULES,
  ...GGUF_RULES,
  ...PICKLE_RULES,
  ...PICKLE_STREAM_RULES,
  ...TAR_RULES,
  ...TEMPLATE_RULES,
  ...CONTAINER_RULES,
  ...NUMPY_RULES,
  ...TORCH_RULES,
  ...ARCHIVE_RULES,
  ...JOBLIB_RULES,
  ...FOLDER_RULES,
  ...KERAS_RULES,
  ...ONNX_RULES,
  ...TENSORFLOW_RULES,
} as const satisfies Record<string, RuleDefinition>;

export type RuleId = keyof typeof RULES;

export interface FindingInput {
  detail: string;
  location?: FindingLocation;
  evidence?: string;
}

/** Build a finding of `rule`: severity, title, explanation and references come from the catalog. */
export function createFinding(rule: RuleId, input: FindingInput): Finding {
  const definition: RuleDefinition = RULES[rule];
  const finding: Finding = {
    rule,
    severity: definition.severity,
    title: definition.title,
    detail: input.detail,
    explanation: definition.explanation,
    location: input.location ?? {},
    references: [...new Set(definition.references)],
  };
  if (input.evidence !== undefined) finding.evidence = input.evidence;
  return finding;
}

export function ruleEffect(ruleId: string): RuleEffect {
  const definition = (RULES as Record<string, RuleDefinition>)[ruleId];
  return definition ? definition.effect : 'suspicious';
}

const EFFECT_RANK: Record<RuleEffect, number> = { dangerous: 3, malformed: 2, suspicious: 1, none: 0 };

/** The worst effect among the findings: dangerous > malformed > suspicious > clean. */
export function verdictOf(findings: readonly Finding[]): Verdict {
  let worst: RuleEffect = 'none';
  for (const finding of findings) {
    const effect = ruleEffect(finding.rule);
    if (EFFECT_RANK[effect] > EFFECT_RANK[worst]) worst = effect;
  }
  return worst === 'none' ? 'clean' : worst;
}
