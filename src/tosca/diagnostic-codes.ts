/**
 * Every diagnostic code the TOSCA compiler reports, each with what it means. E_ codes are
 * errors (the template is refused), W_ codes warnings (it compiles; something is not acted on).
 * README.md ("Diagnostics") lists the same catalogue; a test keeps the two in step.
 */
export const DIAGNOSTIC_CODES = {
  // YAML and files
  E_TOSCA_YAML: 'the file is not valid YAML',
  E_TOSCA_TAB: 'a tab indents a YAML line',
  E_TOSCA_DUPLICATE_KEY: 'a key appears twice in the same map',
  E_TOSCA_NOT_FOUND: 'the service template file does not exist',
  E_TOSCA_VERSION: 'tosca_definitions_version is missing or not one Kaidu reads (tosca_2_0, tosca_simple_yaml_1_0 … 1_3)',
  E_TOSCA_READ: 'a file exists but could not be read (no permission, an I/O error, or a folder, named pipe or device where a file is named)',
  E_TOSCA_INTERNAL: 'a bug in Kaidu; the template could not be compiled',
  // grammar
  E_TOSCA_UNSAFE_NAME: 'a service, node template or host name that could leave its folder (`/`, `..`, a leading dot, control characters; see profiles/kaidu/README.md)',
  E_TOSCA_UNKNOWN_KEYWORD: 'a keyword the construct does not have in this TOSCA version (with the closest one, if any)',
  E_TOSCA_WRONG_SHAPE: 'a keyword\'s value has the wrong shape (a list where a map is expected, a string for a list, a non-boolean `required`, an unknown `status`, a 2.0 `validation` that is not a Boolean function expression or gives a function the wrong number or kind of arguments …)',
  E_TOSCA_MISSING_KEYWORD: 'a keyword the construct requires is missing (a property definition\'s `type`, a repository\'s `url`, a group\'s `type` …)',
  // imports and types
  E_TOSCA_IMPORT: 'an import names neither a file (url) nor a profile',
  E_TOSCA_IMPORT_NOT_FOUND: 'an imported file does not exist',
  E_TOSCA_IMPORT_CYCLE: 'files import each other in a cycle',
  W_TOSCA_REMOTE_IMPORT: 'a remote import (URL) is not fetched; its types are unknown',
  W_TOSCA_UNKNOWN_PROFILE: 'an imported profile is not available',
  E_TOSCA_DUPLICATE_TYPE: 'a type is declared twice in one file',
  E_TOSCA_UNKNOWN_TYPE: 'a type name that no import, profile or declaration provides',
  W_TOSCA_DERIVATION_CYCLE: 'types derive from each other in a cycle (the chain is cut)',
  // templates
  E_TOSCA_MISSING_TYPE: 'a node template has no type',
  E_TOSCA_COPY: 'node templates copy each other in a cycle',
  E_TOSCA_UNKNOWN_TEMPLATE: "a name that is not a node template (copy, group members), not a node template or group (policy targets, a workflow step's or precondition's `target`), or neither a node template nor a node type (a trigger's `target_filter.node`)",
  E_TOSCA_UNKNOWN_PROPERTY: 'a property the type does not declare',
  W_TOSCA_UNKNOWN_ATTRIBUTE: 'an attribute the type does not declare',
  E_TOSCA_REQUIRED_PROPERTY: 'a required property has no value',
  E_TOSCA_UNKNOWN_CAPABILITY: "a capability the node type does not declare (also a trigger's `target_filter.capability`)",
  E_TOSCA_UNKNOWN_INTERFACE: "a node template assigns an interface its type does not declare (a misspelt interface would leave its operations unrun), or a workflow's `call_operation` names an interface the step's target (node template, or relationship type with `target_relationship`) does not have",
  E_TOSCA_UNKNOWN_OPERATION: "a node template assigns an operation its interface (type or definition) does not declare, or a workflow's `call_operation` names an operation its interface does not declare",
  E_TOSCA_UNKNOWN_REQUIREMENT: "a requirement the node type does not declare (also a workflow step's `target_relationship` and a trigger's `target_filter.requirement`)",
  E_TOSCA_UNRESOLVED_REQUIREMENT: 'a requirement names no node template, or none matches it',
  E_TOSCA_REQUIREMENT_DEFINITION: "a requirement definition's `capability` names a capability type its `node` type does not offer (neither that type nor one derived from it)",
  E_TOSCA_REQUIREMENT_TARGET: "a requirement's target does not fit: not of the requirement's node type, no capability of a compatible type (or of the name given), or refused by the relationship's valid target or capability types or by the capability's valid source types",
  E_TOSCA_OCCURRENCES: 'a requirement is assigned more often than its type allows',
  W_TOSCA_OCCURRENCES: 'a requirement is assigned less often than its type asks',
  E_TOSCA_NODE_FILTER: 'a requirement\'s target does not match its node filter, or no node template matches it',
  W_TOSCA_NODE_FILTER: 'a node filter is not evaluated: on a node template (it selects from outside the service), or it reads a value known only at run time',
  // values
  E_TOSCA_VALUE_TYPE: 'a value is not of its declared type (in TOSCA 2.0 a number or boolean is not a string: quote it); also an operand of a constraint or validation clause not of the type it constrains (`greater_than: abc` on an integer), at the operand',
  E_TOSCA_VALIDATION: 'a value fails its validation clause or constraint',
  E_TOSCA_INPUT_REQUIRED: 'a required input has no value',
  W_TOSCA_INPUT_REQUIRED: 'a required input has no value, but the template may be substituted',
  W_TOSCA_UNKNOWN_INPUT: 'an input was given that the template does not declare',
  // functions
  E_TOSCA_FUNCTION: 'a function call is wrong, reported at the call: unknown target (or HOST with no host, SOURCE/TARGET outside a relationship), a property, capability, interface, operation or input the target does not have, wrong arguments (count or kind), a list index out of range, or a cycle',
  E_TOSCA_UNKNOWN_FUNCTION: "a `$name` call of a function that is neither standard nor declared, close to a known one (a typo); in a 2.0 `validation` clause, any such call (it could not be evaluated); a misspelt 1.x call: a one-key map whose key is close to a function written without `$` and whose value is written as that function's arguments (`{ get_atribute: [SELF, x] }`, not `{ tokens: 5 }`), where the type cannot take that map or no type governs the value (operation and interface inputs, artifact properties, outputs, workflow inputs and activity inputs); reported at the call's key",
  W_TOSCA_FUNCTION_LIKE_MAP: "a misspelt 1.x call (a one-key map close to a function written without `$`, its value written as that function's arguments) where the type takes a map: kept as a map, probably a misspelt function; reported at the key",
  W_TOSCA_REQUIREMENT_CAPABILITY: "a requirement definition's `capability`, given with `node`, is neither a capability of that node type nor a capability type (Puccini accepts it)",
  W_TOSCA_UNKNOWN_FUNCTION: 'a `$name` call of a function that is neither standard nor declared (kept as a call)',
  // kept, not acted on
  W_TOSCA_WORKFLOWS: 'workflows are kept but not run',
  // names inside workflows and triggers (compile/workflows.ts)
  E_TOSCA_UNKNOWN_STEP: "a workflow step's `on_success` or `on_failure` names a step the workflow does not have",
  E_TOSCA_UNKNOWN_WORKFLOW: 'an `inline` activity names a workflow the service does not declare, or a `delegate` one that is neither declarative (deploy, undeploy) nor declared',
  E_TOSCA_WORKFLOW_CYCLE: 'workflow steps name each other in a cycle through `on_success` (each would wait for the other), or a workflow inlines itself',
  E_TOSCA_OPERATION_HOST: "a workflow step's `operation_host` is not SOURCE or TARGET (relationship step), a node template or node type (group step), or SELF, HOST, SOURCE, TARGET, ORCHESTRATOR or a node template (node step)",
  W_TOSCA_NODE_STATE: 'a `set_state` activity names a state that is not a normative node state of the version (kept: tools use their own)',
  E_TOSCA_SUBSTITUTION: 'a substitution mapping names what the substituted node type does not declare, or what this service does not have (input, output, node template, its capability, requirement, attribute or interface, workflow), or a capability of an incompatible type',
  W_TOSCA_SUBSTITUTED_OPERATIONS: 'a node with the `substitute` directive has operations with an implementation, or artifacts, of its own: they do not run (its work is the substituting service\'s)',
  E_TOSCA_SUBSTITUTE: 'a node with the `substitute` directive cannot be substituted: no service template of the compile (the entry and its imports) substitutes its type, several do, they substitute each other in a cycle (or too deep), or the substitution does not map a requirement, capability or attribute the outer service uses'
} as const;

export type DiagnosticCode = keyof typeof DIAGNOSTIC_CODES;

export function isDiagnosticCode(code: string): code is DiagnosticCode {
  return Object.prototype.hasOwnProperty.call(DIAGNOSTIC_CODES, code);
}
