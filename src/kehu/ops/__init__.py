"""Operations: backup, restore and their verification."""
