'use strict';
// Points the AWS default credential chain at static credentials and at nothing else of the
// machine's (its ~/.aws files, IMDS, container or web-identity credentials). Tests, the demo and
// the benchmark all sign with made-up keys that only their upstreams know. The addon reads the
// chain on its first proxied request, so call this before that.

/** @param {{ accessKeyId: string, secretAccessKey: string, sessionToken?: string }} credentials */
function useStaticCredentials({ accessKeyId, secretAccessKey, sessionToken }) {
  process.env.AWS_ACCESS_KEY_ID = accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = secretAccessKey;
  if (sessionToken) process.env.AWS_SESSION_TOKEN = sessionToken;
  else delete process.env.AWS_SESSION_TOKEN;
  isolateFromMachine();
}

/** Keeps the chain away from this machine's own AWS files and metadata service. */
function isolateFromMachine() {
  process.env.AWS_REGION = 'us-east-1';
  process.env.AWS_EC2_METADATA_DISABLED = 'true';
  process.env.AWS_CONFIG_FILE = '/nonexistent/aws-config';
  process.env.AWS_SHARED_CREDENTIALS_FILE = '/nonexistent/aws-credentials';
  delete process.env.AWS_PROFILE;
  delete process.env.AWS_WEB_IDENTITY_TOKEN_FILE;
  delete process.env.AWS_CONTAINER_CREDENTIALS_FULL_URI;
  delete process.env.AWS_CONTAINER_CREDENTIALS_RELATIVE_URI;
}

module.exports = { useStaticCredentials, isolateFromMachine };
