-- Counting a license's live seats reads only this index (it holds whether each activation
-- ended), not every activation row of the license: measured, the count through the old
-- index on license_id alone was most of an activation's time once licenses had thousands
-- of activations.
DROP INDEX activations_license;
CREATE INDEX activations_license ON activations (license_id, deactivated);
