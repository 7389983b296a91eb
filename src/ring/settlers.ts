/**
 * One promise executor for every promise ringflow makes per request (ring.run(), TcpSocket
 * writes): `new Promise(captureSettlers)` leaves its settle functions in capturedResolve and
 * capturedReject (live bindings), to be taken at once, before another promise is made, and let
 * go with releaseSettlers(). No closure per promise.
 */
const none = (): void => {};
export let capturedResolve: (v: unknown) => void = none;
export let capturedReject: (e: unknown) => void = none;
export const captureSettlers = (resolve: (v: never) => void, reject: (e: unknown) => void): void => {
  capturedResolve = resolve as (v: unknown) => void;
  capturedReject = reject;
};

/**
 * Drops the module's hold on the last promise's settle functions once they are taken: they keep
 * their promise, and a rejected one its error, whose unformatted stack keeps what its frames saw
 * (a Ring dropped without close() stayed reachable from here, never collected, until another
 * request was made on the thread).
 */
export const releaseSettlers = (): void => {
  capturedResolve = none;
  capturedReject = none;
};
