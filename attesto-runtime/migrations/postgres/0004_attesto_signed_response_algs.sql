-- The algorithms a registered client's signed responses use: `authorization_signed_response_alg`
-- (JARM) and `introspection_signed_response_alg` (RFC 9701), JOSE `alg` values (`ES256`, …);
-- NULL when the client registered none and the provider's signing key decides.
ALTER TABLE attesto_registered_clients ADD COLUMN authorization_signed_response_alg TEXT;
ALTER TABLE attesto_registered_clients ADD COLUMN introspection_signed_response_alg TEXT;
