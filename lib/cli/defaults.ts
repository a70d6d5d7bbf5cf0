/** Port `stepwise local up` listens on by default. */
export const DEFAULT_LOCAL_PORT = 8083;
