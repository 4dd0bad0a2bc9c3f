// What every command that works in a repository starts with: find it, and clear what crashed
// dataver processes left behind (by pid liveness: never the files of one that still runs).
import { sweepStaleTemps } from '../../core/leftovers.js';
import { Repo } from '../../core/repo.js';

/**
 * The repository around the working directory, with stale temporary files removed.
 *
 * @example
 * const repo = await openRepo();
 */
export async function openRepo(): Promise<Repo> {
  const repo = await Repo.find(process.cwd());
  await sweepStaleTemps(repo);
  return repo;
}
