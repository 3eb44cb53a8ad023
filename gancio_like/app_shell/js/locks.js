// A stand-in for the Web Locks API (`navigator.locks`) where a browser lacks it: one
// queue per lock name, within this page only. With it, tabs still cannot both spend one
// refresh token: the server then lets one use succeed and ends the login of the other.
export function localLocks() {
  const tails = new Map();
  return {
    request(name, work) {
      const result = (tails.get(name) || Promise.resolve()).then(() => work());
      tails.set(name, result.catch(() => {}));
      return result;
    },
  };
}
