/**
 * The simulator's file adapter (the only part of sim/ that touches the file system): named
 * scenarios shipped in sim/scenarios/, scenario files (YAML or JSON), the Azure traces, the
 * SSIS ConfigMaps, and writing a report folder.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { SsisError } from '../../core/errors';
import { configurationFrom, type SsisConfiguration } from '../../infra/config/from-configmaps';
import { loadManifests } from '../../infra/knative/manifests';
import { parseScenario, type AzureTraceName, type Scenario } from '../scenario';
import { parseAzureTrace, type AzureTrace } from '../workload/azure-trace';
import { PROJECT_ROOT } from '../../infra/project-root';

export const REPO_ROOT = PROJECT_ROOT;
export const SCENARIO_DIR = join(REPO_ROOT, 'sim', 'scenarios');
/** shared/ lies beside the checkout (ARCHITECTURE.md); SSIS_TRACE_DIR overrides. */
export const DEFAULT_TRACE_DIR = process.env['SSIS_TRACE_DIR'] ?? join(REPO_ROOT, '..', 'shared', 'reference', 'traces');

export function namedScenarios(): string[] {
  return readdirSync(SCENARIO_DIR).filter((f) => f.endsWith('.yaml')).map((f) => f.slice(0, -'.yaml'.length)).sort();
}

export interface LoadedScenario {
  readonly scenario: Scenario;
  readonly file: string;
}

/** A shipped scenario by name, or a file path (.yaml, .yml or .json). */
export function loadScenario(nameOrFile: string): LoadedScenario {
  const named = join(SCENARIO_DIR, `${nameOrFile}.yaml`);
  const file = existsSync(named) ? named : resolve(nameOrFile);
  if (!existsSync(file)) {
    throw new SsisError('SSIS_INVALID_CONFIG', `--scenario: "${nameOrFile}" is neither a shipped scenario (${namedScenarios().join(', ')}) nor a file`, { issues: [{ field: '--scenario', message: 'not found' }] });
  }
  const text = readFileSync(file, 'utf8');
  let doc: unknown;
  try {
    doc = file.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    throw new SsisError('SSIS_INVALID_CONFIG', `${file}: not valid ${file.endsWith('.json') ? 'JSON' : 'YAML'}: ${(err as Error).message}`, { issues: [{ field: file, message: (err as Error).message }] });
  }
  return { scenario: parseScenario(doc, file.startsWith(SCENARIO_DIR) ? nameOrFile : file), file };
}

/** Reads the traces the scenario's workloads need. */
export function loadTraces(scenario: Scenario, scenarioFile: string): Partial<Record<AzureTraceName, AzureTrace>> {
  const dir = scenario.traceDir === null ? DEFAULT_TRACE_DIR : isAbsolute(scenario.traceDir) ? scenario.traceDir : resolve(dirname(scenarioFile), scenario.traceDir);
  const out: Partial<Record<AzureTraceName, AzureTrace>> = {};
  for (const w of scenario.workload) {
    if (w.kind !== 'azure' || out[w.trace]) continue;
    const file = join(dir, `AzureLLMInferenceTrace_${w.trace}.csv`);
    if (!existsSync(file)) {
      throw new SsisError('SSIS_INVALID_CONFIG', `Azure ${w.trace} trace not found at ${file} (set traceDir in the scenario or SSIS_TRACE_DIR)`, { issues: [{ field: 'traceDir', message: `${file} missing` }] });
    }
    out[w.trace] = parseAzureTrace(readFileSync(file, 'utf8'), file);
  }
  return out;
}

/** The catalog, autoscaler-config and ssis-config of knative/ (the same ConfigMaps the system runs with). */
export function loadSsisConfiguration(knativeDir = join(REPO_ROOT, 'knative')): SsisConfiguration {
  return configurationFrom(loadManifests(knativeDir).configMaps);
}

export function writeFiles(dir: string, files: Readonly<Record<string, string>>): string[] {
  mkdirSync(dir, { recursive: true });
  return Object.entries(files).map(([name, content]) => {
    const path = join(dir, name);
    writeFileSync(path, content);
    return path;
  });
}
