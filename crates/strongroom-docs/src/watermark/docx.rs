//! Header watermarks in Word (.docx) documents.
