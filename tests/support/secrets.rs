//! A corpus of planted secrets, one per format, by family, each with where
//! the format comes from. Every `text` holds its `secret`; redaction must
//! remove the secret and keep the marker (`P00`…) that proves the text was
//! shown at all. The secrets are made up; their shapes are real.

pub struct Plant {
    pub family: &'static str,
    /// Where this format is seen (a tool's docs, a scanner's rule).
    pub source: &'static str,
    pub text: &'static str,
    pub secret: &'static str,
}

const fn plant(
    family: &'static str,
    source: &'static str,
    text: &'static str,
    secret: &'static str,
) -> Plant {
    Plant {
        family,
        source,
        text,
        secret,
    }
}

pub const PLANTED: &[Plant] = &[
    // A secret-like name and its value, in every assignment syntax
    // (detect-secrets KeywordDetector's syntaxes; gitleaks generic-api-key).
    plant(
        "assignment",
        "AWS CLI env vars",
        "P01 AWS_SECRET_ACCESS_KEY=Zq8vN3kLr7Tx0pWb5Hy2Jc6Mf9Ds1Ga4Ue8Ki3Ro",
        "Zq8vN3kLr7Tx0pWb5Hy2Jc6Mf9Ds1Ga4Ue8Ki3Ro",
    ),
    plant(
        "assignment",
        "libpq PGPASSWORD",
        "P02 export PGPASSWORD=Tr0ub4dor-and-3x",
        "Tr0ub4dor-and-3x",
    ),
    plant(
        "assignment",
        "YAML",
        "P03 password: hunter2-yaml-8812",
        "hunter2-yaml-8812",
    ),
    plant(
        "assignment",
        "YAML, nested and indented",
        "P04       secretKey: nested-minio-secret-5521",
        "nested-minio-secret-5521",
    ),
    plant(
        "assignment",
        "YAML, quoted",
        "P05 client_secret: \"oauth-client-secret-77aa\"",
        "oauth-client-secret-77aa",
    ),
    plant(
        "assignment",
        "JSON, compact",
        "P06 {\"secretKey\":\"json-compact-secret-0042\"}",
        "json-compact-secret-0042",
    ),
    plant(
        "assignment",
        "JSON, with a space in the value",
        "P07 {\"password\": \"correct horse battery staple\", \"user\": \"admin\"}",
        "correct horse battery",
    ),
    plant(
        "assignment",
        "JSON escaped inside a JSON log line",
        "P08 {\"msg\": \"{\\\"token\\\": \\\"escaped-json-token-9931\\\"}\"}",
        "escaped-json-token-9931",
    ),
    plant(
        "assignment",
        "Python dict repr",
        "P09 {'AWS_SECRET_ACCESS_KEY': 'py-repr-secret-4417'}",
        "py-repr-secret-4417",
    ),
    plant(
        "assignment",
        "Python keyword repr",
        "P10 Config(api_key='py-kwarg-key-6620', region='eu-west-1')",
        "py-kwarg-key-6620",
    ),
    plant(
        "assignment",
        "Ruby hash rocket",
        "P11 {:password => \"ruby-rocket-pass-1188\"}",
        "ruby-rocket-pass-1188",
    ),
    plant(
        "assignment",
        "Ruby/JS object literal",
        "P12 {password: \"js-literal-pass-5509\"}",
        "js-literal-pass-5509",
    ),
    plant(
        "assignment",
        "INI (.s3cfg)",
        "P13 secret_key = s3cfg-ini-secret-2207",
        "s3cfg-ini-secret-2207",
    ),
    plant(
        "assignment",
        "INI (~/.aws/credentials)",
        "P14 aws_secret_access_key = aws-ini-secret-3306",
        "aws-ini-secret-3306",
    ),
    plant(
        "assignment",
        ".netrc",
        "P15 machine github.com login acme password netrc-pass-4405",
        "netrc-pass-4405",
    ),
    plant(
        "assignment",
        "CLI flag, space",
        "P16 mc alias set s3 http://minio:9000 admin --password cli-space-pass-7701",
        "cli-space-pass-7701",
    ),
    plant(
        "assignment",
        "CLI flag, equals",
        "P17 psql --db-password=cli-equals-pass-8802",
        "cli-equals-pass-8802",
    ),
    plant(
        "assignment",
        "CLI flag, token",
        "P18 polyaxon login --token cli-token-value-9903",
        "cli-token-value-9903",
    ),
    plant(
        "assignment",
        "docker login -p",
        "P19 docker login -u acme -p docker-login-pass-1104 registry.acme.io",
        "docker-login-pass-1104",
    ),
    plant(
        "assignment",
        "query string",
        "P20 GET https://api.acme.io/v1/runs?access_token=query-token-2205&page=2",
        "query-token-2205",
    ),
    plant(
        "assignment",
        "Azure SAS query (sig)",
        "P21 https://acct.blob.core.windows.net/plx/runs?sv=2022-11-02&se=2026-12-01&sig=azureSasSig3306abcdEFGH%3D",
        "azureSasSig3306abcdEFGH",
    ),
    plant(
        "assignment",
        "S3 presigned URL (X-Amz-Signature)",
        "P22 https://plx.s3.amazonaws.com/o?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=4f1c9b2e7d3a6c5b8e9f0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b0c1d",
        "4f1c9b2e7d3a6c5b8e9f0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b0c1d",
    ),
    plant(
        "assignment",
        "S3 presigned URL (X-Amz-Security-Token)",
        "P23 ?X-Amz-Security-Token=FwoGZXIvYXdzEBYaDPresignedSessionToken4407",
        "FwoGZXIvYXdzEBYaDPresignedSessionToken4407",
    ),
    plant(
        "assignment",
        "Azure storage connection string",
        "P24 DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=azAccountKey5508ABCDEFghij==;EndpointSuffix=core.windows.net",
        "azAccountKey5508ABCDEFghij",
    ),
    plant(
        "assignment",
        "JDBC URL parameters",
        "P25 jdbc:postgresql://db:5432/plx?user=plx&password=jdbc-param-pass-6609",
        "jdbc-param-pass-6609",
    ),
    plant(
        "assignment",
        "Kubernetes env as JSON",
        "P26 {\"name\": \"POLYAXON_AUTH_TOKEN\", \"value\": \"k8s-env-json-token-7710\"}",
        "k8s-env-json-token-7710",
    ),
    plant(
        "assignment",
        "Kubernetes env as a Python repr (kubernetes client V1EnvVar)",
        "P27 {'name': 'HF_TOKEN', 'value': 'k8s-env-py-token-8811', 'value_from': None}",
        "k8s-env-py-token-8811",
    ),
    plant(
        "assignment",
        "dotenv",
        "P28 WANDB_API_KEY=dotenv-wandb-key-9912",
        "dotenv-wandb-key-9912",
    ),
    plant(
        "assignment",
        "HCL / Terraform",
        "P29 password = \"hcl-terraform-pass-1013\"",
        "hcl-terraform-pass-1013",
    ),
    plant(
        "assignment",
        "XML element",
        "P30 <password>xml-element-pass-2114</password>",
        "xml-element-pass-2114",
    ),
    plant(
        "assignment",
        "Java properties",
        "P31 spring.datasource.password=java-props-pass-3215",
        "java-props-pass-3215",
    ),
    plant(
        "assignment",
        "HTTP header with a secret-like name",
        "P32 X-Api-Key: header-api-key-4316",
        "header-api-key-4316",
    ),
    plant(
        "assignment",
        "GitLab API header",
        "P33 PRIVATE-TOKEN: gitlab-header-token-5417",
        "gitlab-header-token-5417",
    ),
    // Credentials in URLs (trufflehog URI detector, detect-secrets BasicAuthDetector).
    plant(
        "url",
        "PostgreSQL URI",
        "P34 postgres://plx:pg-url-pass-6518@db:5432/plx",
        "pg-url-pass-6518",
    ),
    plant(
        "url",
        "MongoDB SRV URI",
        "P35 mongodb+srv://plx:mongo-url-pass-7619@cluster0.mongodb.net/db",
        "mongo-url-pass-7619",
    ),
    plant(
        "url",
        "Redis URI, no user",
        "P36 redis://:redis-url-pass-8720@redis:6379/0",
        "redis-url-pass-8720",
    ),
    plant(
        "url",
        "AMQP URI",
        "P37 amqp://guest:amqp-url-pass-9821@rabbit:5672/",
        "amqp-url-pass-9821",
    ),
    plant(
        "url",
        "git over HTTPS with a GitLab token",
        "P38 https://oauth2:gitlab-oauth-pass-1922@gitlab.com/acme/models.git",
        "gitlab-oauth-pass-1922",
    ),
    plant(
        "url",
        "git over HTTPS, GitHub App token",
        "P39 https://x-access-token:ghs-app-url-pass-2023@github.com/acme/models.git",
        "ghs-app-url-pass-2023",
    ),
    plant(
        "url",
        "a token as the URL's user",
        "P40 https://a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b0@github.com/acme/models.git",
        "a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b0",
    ),
    // HTTP authentication headers and cookies (gitleaks curl-auth-header).
    plant(
        "header",
        "Authorization: Bearer",
        "P41 Authorization: Bearer bearer-token-value-3124",
        "bearer-token-value-3124",
    ),
    plant(
        "header",
        "Authorization: Basic",
        "P42 Authorization: Basic dXNlcjpiYXNpYy1wYXNzLTQyMjU=",
        "dXNlcjpiYXNpYy1wYXNzLTQyMjU=",
    ),
    plant(
        "header",
        "Polyaxon's Authorization: Token",
        "P43 Authorization: Token polyaxon-api-token-5326",
        "polyaxon-api-token-5326",
    ),
    plant(
        "header",
        "Proxy-Authorization",
        "P44 Proxy-Authorization: Basic cHJveHk6cHJveHktcGFzcy02NDI3",
        "cHJveHk6cHJveHktcGFzcy02NDI3",
    ),
    plant(
        "header",
        "curl -H",
        "P45 curl -H \"Authorization: Bearer curl-header-token-7528\" https://api.acme.io",
        "curl-header-token-7528",
    ),
    plant(
        "header",
        "Cookie",
        "P46 Cookie: sessionid=cookie-session-8629; csrftoken=abc",
        "cookie-session-8629",
    ),
    plant(
        "header",
        "Set-Cookie",
        "P47 Set-Cookie: session=set-cookie-value-9730; Path=/; HttpOnly",
        "set-cookie-value-9730",
    ),
    plant(
        "header",
        "AWS SigV4 Authorization",
        "P48 Authorization: AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20261128/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=fe5f80f77d5fa3beca038a248ff027d0445342fe2855ddc963176630326f1024",
        "fe5f80f77d5fa3beca038a248ff027d0445342fe2855ddc963176630326f1024",
    ),
    // Provider tokens by prefix and shape (gitleaks rules of these names).
    plant(
        "provider",
        "aws-access-token (its ends stay)",
        "P49 using key AKIAQYLPMN5HHHFPZAM2",
        "QYLPMN5HHHFP",
    ),
    plant(
        "provider",
        "github-pat",
        "P50 GITHUB=ghp_R2d2C3poBb8Yoda4Luke5Leia6Han7Chewie9",
        "ghp_R2d2C3poBb8Yoda4Luke5Leia6Han7Chewie9",
    ),
    plant(
        "provider",
        "github-fine-grained-pat",
        "P51 github_pat_11ABCDEFG0aBcDeFgHiJkL_mNoPqRsTuVwXyZ0123456789abcdefghijklmnopqrstuvwxyzABCD",
        "github_pat_11ABCDEFG0aBcDeFgHiJkL_mNoPqRsTuVwXyZ0123456789abcdefghijklmnopqrstuvwxyzABCD",
    ),
    plant(
        "provider",
        "gitlab-pat",
        "P52 glpat-Xy9Zk2Lm4Np6Qr8St0Uv",
        "glpat-Xy9Zk2Lm4Np6Qr8St0Uv",
    ),
    plant(
        "provider",
        "slack-bot-token",
        "P53 xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx",
        "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx",
    ),
    plant(
        "provider",
        "slack-webhook-url",
        "P54 posting to https://hooks.slack.com/services/T0ACME000/B0ACME000/XyZ123abcDEF456ghiJKL789",
        "XyZ123abcDEF456ghiJKL789",
    ),
    plant(
        "provider",
        "stripe-access-token",
        "P55 sk_live_4eC39HqLyjWDarjtT1zdp7dcAcmeKey",
        "sk_live_4eC39HqLyjWDarjtT1zdp7dcAcmeKey",
    ),
    plant(
        "provider",
        "gcp-api-key",
        "P56 key AIzaSyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q",
        "AIzaSyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q",
    ),
    plant(
        "provider",
        "gcp oauth access token",
        "P57 ya29.a0AfB_byC1d2E3f4G5h6I7j8K9l0M1n2O3p4",
        "ya29.a0AfB_byC1d2E3f4G5h6I7j8K9l0M1n2O3p4",
    ),
    plant(
        "provider",
        "huggingface-access-token",
        "P58 hf_AbCdEfGhIjKlMnOpQrStUvWxYz01234567",
        "hf_AbCdEfGhIjKlMnOpQrStUvWxYz01234567",
    ),
    plant(
        "provider",
        "openai-api-key",
        "P59 sk-proj-Ab12Cd34Ef56Gh78Ij90Kl12Mn34Op56",
        "sk-proj-Ab12Cd34Ef56Gh78Ij90Kl12Mn34Op56",
    ),
    plant(
        "provider",
        "anthropic-api-key",
        "P60 sk-ant-api03-AbCdEfGhIjKlMnOpQrStUvWx-yz0123",
        "sk-ant-api03-AbCdEfGhIjKlMnOpQrStUvWx-yz0123",
    ),
    plant(
        "provider",
        "npm-access-token",
        "P61 //registry.npmjs.org/:_authToken=npm_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789",
        "npm_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789",
    ),
    plant(
        "provider",
        "pypi-upload-token",
        "P62 pypi-AgEIcHlwaS5vcmcCJGFiY2RlZmdoLWlqa2wtbW5vcC1xcnN0LXV2d3h5ejAxMjM0NQ",
        "pypi-AgEIcHlwaS5vcmcCJGFiY2RlZmdoLWlqa2wtbW5vcC1xcnN0LXV2d3h5ejAxMjM0NQ",
    ),
    plant(
        "provider",
        "sendgrid-api-token",
        "P63 SG.AbCdEfGhIjKlMnOpQrStUv.AbCdEfGhIjKlMnOpQrStUvWxYz0123456789AbCdEfG",
        "SG.AbCdEfGhIjKlMnOpQrStUv.AbCdEfGhIjKlMnOpQrStUvWxYz0123456789AbCdEfG",
    ),
    plant(
        "provider",
        "digitalocean-pat",
        "P64 dop_v1_0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        "dop_v1_0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
    ),
    plant(
        "provider",
        "databricks-api-token",
        "P65 dapi0123456789abcdef0123456789abcdef",
        "dapi0123456789abcdef0123456789abcdef",
    ),
    plant(
        "provider",
        "jwt (a service account token)",
        "P66 eyJhbGciOiJSUzI1NiIsImtpZCI6ImFjbWUifQ.eyJpc3MiOiJrdWJlcm5ldGVzL3NlcnZpY2VhY2NvdW50In0.c2lnbmF0dXJlLWFjbWUtand0LXNpZ25hdHVyZQ",
        "c2lnbmF0dXJlLWFjbWUtand0LXNpZ25hdHVyZQ",
    ),
    plant(
        "provider",
        "dockerhub pat",
        "P67 dckr_pat_AbCdEfGhIjKlMnOpQrStUvWxYz0",
        "dckr_pat_AbCdEfGhIjKlMnOpQrStUvWxYz0",
    ),
    // PEM private keys, the whole block (gitleaks private-key).
    plant(
        "pem",
        "RSA key in one text (a ConfigMap value)",
        "P68 key: -----BEGIN RSA PRIVATE KEY-----\\nMIIEpAIBAAKCAQEArsaPemBodyAcme0001xyz\\n-----END RSA PRIVATE KEY-----",
        "MIIEpAIBAAKCAQEArsaPemBodyAcme0001xyz",
    ),
    plant(
        "pem",
        "GCP service account JSON",
        "P69 {\"private_key\": \"-----BEGIN PRIVATE KEY-----\\nMIIEvQIBADANBgkqGcpServiceAcctBody02\\n-----END PRIVATE KEY-----\\n\"}",
        "MIIEvQIBADANBgkqGcpServiceAcctBody02",
    ),
    plant(
        "pem",
        "EC key",
        "P70 -----BEGIN EC PRIVATE KEY----- MHcCAQEEIEcPemBodyAcme0003abcdef -----END EC PRIVATE KEY-----",
        "MHcCAQEEIEcPemBodyAcme0003abcdef",
    ),
    plant(
        "pem",
        "PGP key block",
        "P71 -----BEGIN PGP PRIVATE KEY BLOCK----- lQOYBGPgpPemBodyAcme0004 -----END PGP PRIVATE KEY BLOCK-----",
        "lQOYBGPgpPemBodyAcme0004",
    ),
];

/// Formats that span lines (logs print a key over many lines; Kubernetes
/// env in YAML takes two): (family, source, text, secret).
pub const PLANTED_MULTILINE: &[Plant] = &[
    plant(
        "pem",
        "OpenSSH key printed over several log lines",
        "M01 loading key\n-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\nQyNTUxOQAAACBvpenSshMultiLineBodyAcme0005abcdefghijklmnopqrstuvwx\n-----END OPENSSH PRIVATE KEY-----\nM01 key loaded",
        "penSshMultiLineBodyAcme0005",
    ),
    plant(
        "assignment",
        "Kubernetes env in YAML (kubectl get pod -o yaml)",
        "M02 env:\n    - name: POLYAXON_AUTH_TOKEN\n      value: k8s-env-yaml-token-6610\n    - name: POLYAXON_HOST",
        "k8s-env-yaml-token-6610",
    ),
];

/// Text that looks secret-adjacent and must stay readable: run uuids,
/// image digests, commit shas, resource versions, names of Secrets.
pub const READABLE: &[&str] = &[
    "run 8f3c2a1b9d7e4c5fa0b1c2d3e4f5a6b7 failed",
    "uuid 8f3c2a1b-9d7e-4c5f-a0b1-c2d3e4f5a6b7",
    "image acme/trainer@sha256:4f1c9b2e7d3a6c5b8e9f0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b0c1d",
    "commit 3f2e1d0c9b8a7f6e5d4c3b2a1f0e9d8c7b6a5f4e",
    "resourceVersion: 812734",
    "secretName: s3-secret",
    "volume s3-creds needs secret \"s3-creds\" not found",
    "key: nvidia.com/gpu",
    "botocore.exceptions.NoCredentialsError: Unable to locate credentials",
    "container polyaxon-init-auth: exit code 1",
    "max_tokens=512 tokenizer=bert-base",
    "password_file=/etc/plx/password",
];
