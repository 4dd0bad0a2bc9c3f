// The environment every benchmark runs its commands in: a private HOME keeps git and git-lfs
// configuration out of the user's own, a fixed identity lets it commit, LC_ALL=C fixes sorting.
function benchEnv(home, extra = {}) {
  return {
    ...process.env,
    HOME: home,
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_AUTHOR_NAME: 'bench',
    GIT_AUTHOR_EMAIL: 'bench@example.invalid',
    GIT_COMMITTER_NAME: 'bench',
    GIT_COMMITTER_EMAIL: 'bench@example.invalid',
    LC_ALL: 'C',
    ...extra,
  };
}

module.exports = { benchEnv };
