/**
 * Persons: a face may belong to a person, named in its `meta.person` (no second database).
 * The name's rules, where `faceshard encode` takes it from (a flag or the photo's folder),
 * and "who is this": a query's top-k matches ranked and voted by person.
 */
export { MAX_PERSON_CHARS, parsePerson, PersonName } from './person-name.js';
export { personFromPath, type PersonFromPath, type PersonSource } from './person-source.js';
export { DEFAULT_SAME_PERSON_THRESHOLD, personOfMeta, PersonRank, whoIs, WhoIs, type WhoIsMatch, WhoIsStep, whoIsSteps, WhoIsVerdict } from './who-is.js';
