/** What the markdown-it rules of a tutorial page read and report while rendering one page. */
export interface RenderEnv {
  /** Names of the lab's systems; when given, `run=NAME` must name one of them. */
  systems?: readonly string[];
  /** Problems an author should fix, in words that say where. */
  problems: string[];
}
