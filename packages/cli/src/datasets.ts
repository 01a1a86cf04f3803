/** Dataset folders `supcon doctor` reports. */
export function datasetLocations(): Record<string, string | undefined> {
  return { 'fashion-mnist (Debian)': '/usr/share/datasets/fashion-mnist' };
}
