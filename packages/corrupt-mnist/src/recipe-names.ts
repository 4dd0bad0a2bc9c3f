// The names of the recipes `generate` knows, apart from the recipes themselves, so that the
// command line can list them without loading what generates data.

/** The recipes `generate` knows. */
export const RECIPES = ['course', 'mixed'] as const;
export type RecipeName = (typeof RECIPES)[number];
