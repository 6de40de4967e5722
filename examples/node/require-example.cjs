// The package from CommonJS (Node >= 20.19: require() of an ES module).
const { Client, pkceChallenge } = require('termauth');
if (pkceChallenge('dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk') !== 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM') process.exit(1);
console.log(typeof Client);
