// The Intel SGX Root CA, the trust anchor of every production DCAP chain (PCK, TCB Signing, CRLs).
// Public certificate, also served by Intel's certificate service; pinned here by its SHA-256 so a
// root found inside a quote or collateral is never trusted on its own.
import { createHash } from 'node:crypto';

/** SHA-256 of the DER of the Intel SGX Root CA (CN=Intel SGX Root CA, valid 2018-05-21 to 2049-12-31). */
export const INTEL_SGX_ROOT_CA_SHA256 = '44a0196b2b99f889b8e149e95b807a350e7424964399e885a7cbb8ccfab674d3';

const INTEL_SGX_ROOT_CA_B64 =
  'MIICjzCCAjSgAwIBAgIUImUM1lqdNInzg7SVUr9QGzknBqwwCgYIKoZIzj0EAwIwaDEaMBgGA1UEAwwRSW50ZWwgU0dYIFJvb3QgQ0ExGjAYBgNVBAoMEUludGVsIENvcnBvcmF0aW9uMRQwEgYDVQQHDAtTYW50YSBDbGFyYTELMAkGA1UECAwCQ0ExCzAJBgNVBAYTAlVTMB4XDTE4MDUyMTEwNDUxMFoXDTQ5MTIzMTIzNTk1OVowaDEaMBgGA1UEAwwRSW50ZWwgU0dYIFJvb3QgQ0ExGjAYBgNVBAoMEUludGVsIENvcnBvcmF0aW9uMRQwEgYDVQQHDAtTYW50YSBDbGFyYTELMAkGA1UECAwCQ0ExCzAJBgNVBAYTAlVTMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEC6nEwMDIYZOj/iPWsCzaEKi71OiOSLRFhWGjbnBVJfVnkY4u3IjkDYYL0MxO4mqsyYjlBalTVYxFP2sJBK5zlKOBuzCBuDAfBgNVHSMEGDAWgBQiZQzWWp00ifODtJVSv1AbOScGrDBSBgNVHR8ESzBJMEegRaBDhkFodHRwczovL2NlcnRpZmljYXRlcy50cnVzdGVkc2VydmljZXMuaW50ZWwuY29tL0ludGVsU0dYUm9vdENBLmRlcjAdBgNVHQ4EFgQUImUM1lqdNInzg7SVUr9QGzknBqwwDgYDVR0PAQH/BAQDAgEGMBIGA1UdEwEB/wQIMAYBAf8CAQEwCgYIKoZIzj0EAwIDSQAwRgIhAOW/5QkR+S9CiSDcNoowLuPRLsWGf/Yi7GSX94BgwTwgAiEA4J0lrHoMs+Xo5o/sX6O9QWxHRAvZUGOdRQ7cvqRXaqI=';

/** DER of the Intel SGX Root CA, checked against INTEL_SGX_ROOT_CA_SHA256 when loaded. */
export const INTEL_SGX_ROOT_CA_DER: Uint8Array = (() => {
  const der = Uint8Array.from(Buffer.from(INTEL_SGX_ROOT_CA_B64, 'base64'));
  if (createHash('sha256').update(der).digest('hex') !== INTEL_SGX_ROOT_CA_SHA256) {
    throw new Error('embedded Intel SGX Root CA does not match its pinned fingerprint');
  }
  return der;
})();

/** True when the DER certificate is the Intel SGX Root CA. */
export function isIntelSgxRootCa(der: Uint8Array): boolean {
  return createHash('sha256').update(der).digest('hex') === INTEL_SGX_ROOT_CA_SHA256;
}
