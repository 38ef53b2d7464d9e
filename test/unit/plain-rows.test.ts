import assert from 'node:assert/strict';
import { DataTypes } from 'sequelize';
import { utcDateText } from '../../services/data/src/store/plain-rows';

describe('plain rows', () => {
  it('when a date is written as text, then it is the very text Sequelize writes for a DATE', () => {
    const sequelizeDate = new DataTypes.DATE();
    for (const date of [
      new Date('2026-11-22T07:27:57.480Z'),
      new Date('2026-01-01T00:00:00.000Z'),
      new Date('1999-12-31T23:59:59.999Z'),
      new Date(Date.UTC(2030, 5, 9, 4, 3, 2, 7)),
    ]) {
      assert.equal(utcDateText(date), sequelizeDate.stringify(date, { timezone: '+00:00' }));
    }
  });
});
