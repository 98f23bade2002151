/** helm's pinned release (helm.sh/helm/v3). */
export const HELM_VERSION: string;
/** The Kubernetes release the rendered manifests are checked against (k8s.io/api's). */
export const KUBE_VERSION: string;
/** Where the helm binary is built (it may not be there yet). */
export function helmPath(): string;
/** Where deploycheck is built for the current sources (it may not be there yet). */
export function deploycheckPath(): string;
/** Builds what is missing (Go on PATH); returns the absolute paths. */
export function buildDeployTools(): { helm: string; deploycheck: string };
