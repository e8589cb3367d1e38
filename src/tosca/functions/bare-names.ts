/** Functions TOSCA 1.x (and Puccini's 2.0 examples) write without a `$`. A leaf module: values.ts needs it as it loads. */
export const BARE_FUNCTIONS: ReadonlySet<string> = new Set(['get_input', 'get_property', 'get_attribute', 'get_operation_output', 'get_nodes_of_type', 'get_artifact', 'concat', 'join', 'token']);
