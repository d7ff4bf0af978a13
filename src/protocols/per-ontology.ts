/**
 * A value made once per ontology and kept with it. XState caches per machine and zod compiles
 * each schema on first use, so a thousand agents of one ontology should share one machine and
 * one set of schemas instead of paying for their own.
 */
export function perOntology<V>(cache: WeakMap<object, unknown>, ontology: object, make: () => V): V {
  let value = cache.get(ontology) as V | undefined;
  if (value === undefined) {
    value = make();
    cache.set(ontology, value);
  }
  return value;
}
