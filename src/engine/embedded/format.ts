/** `addr:port`, with brackets around IPv6 (ipvsadm -L -n style). */
export function formatEndpointText(address: string, port: number): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}
