// The Node reference for bench_cold.py: one RS256 token with the claims `qs-jwt qseow` makes,
// from a cold process. Usage: node sign.js KEY.pem
"use strict";
const crypto = require("crypto");
const fs = require("fs");
const jwt = require("jsonwebtoken");

const key = fs.readFileSync(process.argv[2]);
const iat = Math.floor(Date.now() / 1000) - 10;
const claims = {
  userId: "alice",
  userDirectory: "CORP",
  jti: crypto.randomBytes(32).toString("base64url"),
  iat: iat,
  nbf: iat,
  exp: iat + 3600,
};
process.stdout.write(jwt.sign(claims, key, { algorithm: "RS256" }) + "\n");
