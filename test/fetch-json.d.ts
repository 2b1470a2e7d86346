// Tests read many JSON bodies of known shape; let `res.json()` be `any` there
// rather than casting at every call. Test-only: src/ never sees this.
declare global {
  interface Response {
    json(): Promise<any>;
  }
}

export {};
