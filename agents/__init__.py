"""Mesa agents: DNO, StorageOwner, MainGrid, Validator; thin state holders that decide by calling market/ and ledger/."""
