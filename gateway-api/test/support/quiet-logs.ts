// fabric-contract-api logs every decorator at info level when a test loads the chaincode (for
// its helpers and bounds); tests only want warnings and errors.
process.env.CORE_CHAINCODE_LOGGING_LEVEL ??= 'warning';
