/**
 * The one harness of the Worker tests (they run inside workerd with the real R2 and Durable Object
 * simulators; nothing is mocked). Import everything from here:
 *
 *   requests.ts  req() through the Worker (SELF), expectError(), errorCode()
 *   content.ts   randomBytes()/noise(), cut(), sha256(), pushBlob(), pushImage(), media type names
 *   uploads.ts   openSession(), patch(), patchAll(), finish(), sessionRange(), sessionStub(), PART
 *   auth.ts      call() with per-test settings (authEnv()), users and passwords, tokens, challenges
 *   storage.ts   the stores driven directly: stores(), writeBlob(), blobStored(), snapshot(), latch() ...
 */
export * from "./auth";
export * from "./content";
export * from "./requests";
export * from "./storage";
export * from "./uploads";
