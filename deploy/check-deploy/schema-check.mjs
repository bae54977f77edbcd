// Checks rendered Kubernetes objects against the schemas of the API versions they name:
// Kubernetes 1.27's (kubernetes-models) and the Prometheus Operator's CRDs
// (@kubernetes-models/prometheus-operator). Two passes, because each catches what the other
// cannot:
// - validate(), the models' JSON schema: required fields (a Deployment without a selector),
//   types (a port given as a string), formats (a quantity such as "2 GB"), enumerations.
// - the keys, against the models' TypeScript interfaces: a key the schema does not declare
//   (`readinesProbe`), which validate() lets through and the API server drops without a word.
// An object of an API version and kind not in MODELS fails: add its model here.
//
//   node schema-check.mjs RENDERED.yaml...    (scripts/check-deploy.sh; exits 1 on a failure)
//
// Runs from the folder the packages are installed in (tsc resolves the models' types there).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import YAML from 'yaml';
import { Deployment } from 'kubernetes-models/apps/v1';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { ConfigMap, Service } from 'kubernetes-models/v1';
import { PrometheusRule, ServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1';

const PROMETHEUS_OPERATOR = '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1';

// "apiVersion kind": the model's class, and its interface's name and module for tsc.
const MODELS = {
  'apps/v1 Deployment': [Deployment, 'IDeployment', 'kubernetes-models/apps/v1/Deployment'],
  'v1 Service': [Service, 'IService', 'kubernetes-models/v1/Service'],
  'v1 ConfigMap': [ConfigMap, 'IConfigMap', 'kubernetes-models/v1/ConfigMap'],
  'autoscaling/v2 HorizontalPodAutoscaler': [HorizontalPodAutoscaler, 'IHorizontalPodAutoscaler',
    'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler'],
  'policy/v1 PodDisruptionBudget': [PodDisruptionBudget, 'IPodDisruptionBudget',
    'kubernetes-models/policy/v1/PodDisruptionBudget'],
  'monitoring.coreos.com/v1 ServiceMonitor': [ServiceMonitor, 'IServiceMonitor',
    `${PROMETHEUS_OPERATOR}/ServiceMonitor`],
  'monitoring.coreos.com/v1 PrometheusRule': [PrometheusRule, 'IPrometheusRule',
    `${PROMETHEUS_OPERATOR}/PrometheusRule`],
};

// Parses each YAML document of `text`; duplicate keys are errors.
function parseDocuments(where, text, failures) {
  const objects = [];
  for (const document of YAML.parseAllDocuments(text, { uniqueKeys: true })) {
    if (document.errors.length > 0) {
      for (const error of document.errors) failures.push(`${where}: YAML: ${error.message}`);
      continue;
    }
    const object = document.toJS();
    if (object !== null) objects.push(object);
  }
  return objects;
}

function describe(object) {
  return `${object?.kind ?? '(no kind)'} ${object?.metadata?.name ?? '(no name)'}`;
}

// Every key of `value` that `type` does not declare, as a path ("/spec/template/..."). Walks
// the value and the type together: an object's keys against the type's properties (or its
// string index signature, as for labels), an array's elements against its element type.
function unknownKeys(checker, location, value, type, at, found) {
  type = checker.getNonNullableType(type);
  if (Array.isArray(value)) {
    const element = checker.getIndexTypeOfType(type, ts.IndexKind.Number);
    if (element) value.forEach((item, i) => unknownKeys(checker, location, item, element, `${at}/${i}`, found));
    return;
  }
  if (value === null || typeof value !== 'object') return;
  // Of a union (rare in these schemas), the object types; a key must be in one of them.
  const candidates = (type.isUnion() ? type.types : [type]).filter((t) => t.flags & ts.TypeFlags.Object);
  if (candidates.length === 0) return;  // `any`, `unknown` or a primitive: validate() judges it
  for (const [key, child] of Object.entries(value)) {
    const property = candidates.map((t) => checker.getPropertyOfType(t, key)).find(Boolean);
    const childType = property ? checker.getTypeOfSymbolAtLocation(property, location) :
      candidates.map((t) => checker.getIndexTypeOfType(t, ts.IndexKind.String)).find(Boolean);
    if (!childType) {
      found.push(`${at}/${key}`);
    } else {
      unknownKeys(checker, location, child, childType, `${at}/${key}`, found);
    }
  }
}

// The models' TypeScript interfaces, resolved by tsc from the installed packages: one program
// for every model, built once per process. Returns {checker, file, types: iface -> type} or
// {failures} when they do not resolve.
let interfaces = null;
function loadInterfaces(workDir) {
  if (interfaces) return interfaces;
  const source = Object.values(MODELS).map(([, iface, module]) =>
    `import type { ${iface} } from '${module}';\nexport type Checked${iface} = ${iface};\n`).join('');
  const generated = path.join(workDir, 'interfaces.gen.ts');
  fs.writeFileSync(generated, source);
  const program = ts.createProgram([generated], {
    strict: true, noEmit: true, skipLibCheck: true, types: [],
    target: ts.ScriptTarget.ES2020, module: ts.ModuleKind.CommonJS,
    moduleResolution: ts.ModuleResolutionKind.Node10,
  });
  const failures = ts.getPreEmitDiagnostics(program).map((diagnostic) =>
    `tsc: ${ts.flattenDiagnosticMessageText(diagnostic.messageText, ' ')}`);
  if (failures.length > 0) return (interfaces = { failures });
  const checker = program.getTypeChecker();
  const file = program.getSourceFile(generated);
  const types = new Map();
  for (const statement of file.statements) {
    if (ts.isTypeAliasDeclaration(statement)) {
      types.set(statement.name.text.replace(/^Checked/, ''), checker.getTypeAtLocation(statement.name));
    }
  }
  return (interfaces = { checker, file, types, failures: [] });
}

// Keys the models' interfaces do not declare, which validate() lets through (the schemas allow
// any key) and the API server drops.
function checkKeys(checked, workDir) {
  const { checker, file, types, failures } = loadInterfaces(workDir);
  if (failures.length > 0) return failures;
  const found = [];
  for (const { where, object, iface } of checked) {
    const type = types.get(iface);
    if (!(type.flags & ts.TypeFlags.Object)) {  // unresolved: it would accept any key
      found.push(`${where}: ${describe(object)}: ${iface} did not resolve to an object type`);
      continue;
    }
    const keys = [];
    unknownKeys(checker, file, object, type, '', keys);
    for (const key of keys) found.push(`${where}: ${describe(object)}: ${key}: no such field in ${iface}`);
  }
  return found;
}

// Checks every object of the named YAML texts ({where, text}); returns the failures.
export function checkManifests(manifests, workDir) {
  const failures = [];
  const checked = [];
  for (const { where, text } of manifests) {
    for (const object of parseDocuments(where, text, failures)) {
      const model = MODELS[`${object.apiVersion} ${object.kind}`];
      if (!model) {
        failures.push(`${where}: ${describe(object)}: no schema for apiVersion ` +
          `${object.apiVersion} kind ${object.kind} (deploy/check-deploy/schema-check.mjs, MODELS)`);
        continue;
      }
      const [Model, iface, module] = model;
      try {
        new Model(object).validate();
      } catch (error) {
        const details = error.errors?.map((e) => `${e.instancePath || '/'} ${e.message}`) ??
          [error.message];
        for (const detail of details) failures.push(`${where}: ${describe(object)}: ${detail}`);
      }
      checked.push({ where, object, iface, module });
    }
  }
  if (checked.length > 0) failures.push(...checkKeys(checked, workDir));
  return failures;
}

function main(files) {
  if (files.length === 0) {
    console.error('usage: node schema-check.mjs RENDERED.yaml...');
    return 2;
  }
  const manifests = files.map((file) => ({ where: file, text: fs.readFileSync(file, 'utf8') }));
  const failures = checkManifests(manifests, path.dirname(fileURLToPath(import.meta.url)));
  for (const failure of failures) console.error(`  ${failure}`);
  if (failures.length > 0) {
    console.error('schema-check: FAILED');
    return 1;
  }
  const count = manifests.reduce((n, m) => n + YAML.parseAllDocuments(m.text).length, 0);
  console.log(`schema-check: ok (${count} objects against Kubernetes 1.27's and the ` +
    'Prometheus Operator\'s schemas)');
  return 0;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = main(process.argv.slice(2));
}
