mod mma;
