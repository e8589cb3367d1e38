/** The families of TOSCA types and the file keys that declare them (a leaf: the loader and the readers share it). */
export type Family = 'data' | 'capability' | 'interface' | 'artifact' | 'relationship' | 'node' | 'group' | 'policy';
export const FAMILY_KEYS: Record<Family, string> = {
  data: 'data_types',
  capability: 'capability_types',
  interface: 'interface_types',
  artifact: 'artifact_types',
  relationship: 'relationship_types',
  node: 'node_types',
  group: 'group_types',
  policy: 'policy_types',
};
