/**
 * Differences between ringflow/fs and node:fs/promises that the suite has found and that are not
 * fixed yet, by case name: those cases run as `todo` with this text (what differs), so the suite
 * stays honest (the comparison is not weakened) while `npm test` passes. Remove an entry when the
 * case passes. Each text names the Node lines where it was seen (20.20.2, 22.23.3, 24.21.0,
 * 26.12.1); on a line where the case passes, node:test reports a passing todo.
 */
export const KNOWN_DIFFERENCES: Record<string, string> = {
};
