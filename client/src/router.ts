/** History-API routing: the server answers every client path with index.html. */
export function navigate(path: string): void {
  if (location.pathname !== path) history.pushState(null, '', path);
  window.dispatchEvent(new Event('route'));
}

export function link(path: string) {
  return (event: Event) => {
    event.preventDefault();
    navigate(path);
  };
}
