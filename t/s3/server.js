// The S3-compatible server of the s3 suite and of make run STORAGE=s3:
// s3rver over a directory, one bucket, on 127.0.0.1. It checks every
// request's SigV4 signature (its account S3RVER / S3RVER). Prints
// "listening PORT" once it accepts requests.
//   node server.js DIRECTORY BUCKET [PORT]
'use strict';
const S3rver = require('@20minutes/s3rver');

const [directory, bucket, port] = process.argv.slice(2);
if (!directory || !bucket) {
  console.error('usage: node server.js DIRECTORY BUCKET [PORT]');
  process.exit(2);
}
new S3rver({
  address: '127.0.0.1',
  port: Number(port || 0),
  directory,
  silent: true,
  vhostBuckets: false,
  configureBuckets: [{ name: bucket }],
})
  .run()
  .then((addr) => console.log(`listening ${addr.port}`))
  .catch((err) => {
    console.error(err);
    process.exit(1);
  });
