/** A signed-in session as the client keeps it. */
export type Session =
  | {
      kind: "staff";
      accessToken: string;
      /** When the access token expires, in milliseconds since the epoch. */
      accessExpiresAt: number;
      /** Used once with `POST /v1/auth/refresh`; each refresh hands out the next one. */
      refreshToken: string;
      userId: string;
      sessionId: string;
    }
  | {
      kind: "applicant";
      accessToken: string;
      accessExpiresAt: number;
      /**
       * Used once with `POST /v1/auth/wechat/refresh`; each refresh hands out the next one.
       * Absent in sessions kept by older versions: those sign in again with a login code.
       */
      refreshToken?: string;
      applicantId: string;
    };

/**
 * Where the session lives between app starts: memory (the default), `localStorage`, the
 * mini-program's storage (`wxSessionStore`), a phone's secure store. May be async.
 */
export interface SessionStore {
  load(): Session | undefined | Promise<Session | undefined>;
  save(session: Session | undefined): void | Promise<void>;
}

/** Keeps the session in memory only: signed out when the process ends. */
export function memorySessionStore(initial?: Session): SessionStore {
  let current = initial;
  return {
    load: () => current,
    save: (session) => {
      current = session;
    },
  };
}
