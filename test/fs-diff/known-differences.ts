/**
 * Differences between ringflow/fs and node:fs/promises that the suite has found and that are not
 * fixed yet, by case name: those cases run as `todo` with this text (what differs), so the suite
 * stays honest (the comparison is not weakened) while `npm test` passes. Remove an entry when the
 * case passes; the report of a todo case that passes says so.
 */
export const KNOWN_DIFFERENCES: Record<string, string> = {};
