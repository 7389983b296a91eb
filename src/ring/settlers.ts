/**
 * One promise executor for every promise ringflow makes per request (ring.run(), TcpSocket
 * writes): `new Promise(captureSettlers)` leaves its settle functions in capturedResolve and
 * capturedReject (live bindings), to be taken at once, before another promise is made. No
 * closure per promise.
 */
export let capturedResolve: (v: unknown) => void = () => {};
export let capturedReject: (e: unknown) => void = () => {};
export const captureSettlers = (resolve: (v: never) => void, reject: (e: unknown) => void): void => {
  capturedResolve = resolve as (v: unknown) => void;
  capturedReject = reject;
};
