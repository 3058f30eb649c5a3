package schemas

// crc64AvroEmpty is the CRC-64-AVRO fingerprint of the empty string, the
// polynomial the Avro spec ("Schema Fingerprints") builds its table from.
const crc64AvroEmpty = 0xc15d213aa4d7a795

var crc64AvroTable = func() (t [256]uint64) {
	for i := range t {
		fp := uint64(i)
		for range 8 {
			fp = (fp >> 1) ^ (crc64AvroEmpty & -(fp & 1))
		}
		t[i] = fp
	}
	return t
}()

// fingerprint is the spec's 64-bit Rabin fingerprint (CRC-64-AVRO) of b,
// which for single-object encoding is a schema's Parsing Canonical Form.
func fingerprint(b []byte) uint64 {
	fp := uint64(crc64AvroEmpty)
	for _, c := range b {
		fp = (fp >> 8) ^ crc64AvroTable[byte(fp)^c]
	}
	return fp
}
